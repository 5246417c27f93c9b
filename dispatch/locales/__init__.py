"""The staff side's translation catalogs (gettext .po, one folder per language)."""
