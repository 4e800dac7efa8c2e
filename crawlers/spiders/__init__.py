"""One spider per kind of source: web pages, RSS/Atom feeds, Telegram channels."""
