"""Who the JupyterLab session is signed in as, and on which CS3 site."""
