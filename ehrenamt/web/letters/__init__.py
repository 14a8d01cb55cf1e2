"""Staff: the office's letters to print, and print runs of cards."""
