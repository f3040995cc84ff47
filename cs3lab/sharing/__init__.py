"""User, group, OCM and public-link shares.

Not built yet beyond opening a public link (CS3Connection.auth_mode = "publiclink").
"""
