"""The roadmap's write side: every change goes through a function here."""
