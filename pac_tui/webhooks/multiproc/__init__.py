"""`webhook serve --workers N`: receiver processes in front of one journal-writer process."""
