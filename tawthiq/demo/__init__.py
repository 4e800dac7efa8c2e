"""The bundled offline demo: a synthetic Telegram-format channel, RSS feed and website."""
