"""The shipped settings defaults (`defaults.toml`), installed as package data `tawthiq.config`."""
