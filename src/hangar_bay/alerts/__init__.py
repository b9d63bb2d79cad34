"""Alerts (F007): new contracts matched against watch entries and saved searches become
notifications, shown in the app, posted to Discord webhooks, and followed as Atom feeds."""
