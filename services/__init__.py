"""Turnkey CRM services: contacts, deals, marketing, support, and their shared kernel in `common`."""
