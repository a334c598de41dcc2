"""Privacy by default: keyed pseudonyms for identifiers, disclosure control on what is published."""
