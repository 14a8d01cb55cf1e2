"""Operations that change state. Services own the transaction: they commit, views don't."""
