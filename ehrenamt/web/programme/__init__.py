"""The programme administrator: offices of the programme."""
