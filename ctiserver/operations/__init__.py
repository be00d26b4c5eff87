"""Running ctiserver beside a production Asterisk: its configuration snippets, the pre-flight check."""
