"""Offers from outside the content pack: the Arbeitsagentur's job search (issue 15)."""
