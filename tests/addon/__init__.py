"""Static checks of the add-on and the repository's packaging."""
