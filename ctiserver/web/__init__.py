"""Web infrastructure: the app factory, sessions and login, the websocket hub, JSON errors."""
