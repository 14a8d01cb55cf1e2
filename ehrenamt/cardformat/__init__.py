"""What a card is on paper and in its QR code: token, keys, numbers, QR, PDF and PNG.

Pure code: it takes plain values and enums defined here and imports no model, session or
app, so an offline verifier or a benchmark can use it alone.
"""
