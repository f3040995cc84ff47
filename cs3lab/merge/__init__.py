"""Clone-with-origin and three-way notebook merge with nbdime.

Not built yet: see DESIGN.md, "Clone-then-merge".
"""
