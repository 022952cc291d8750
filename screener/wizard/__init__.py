"""The client wizard: pure engine, generated forms, cookie-free drafts, views."""
