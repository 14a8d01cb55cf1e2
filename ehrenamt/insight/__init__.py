"""What an office reads about its own work: the audit log, statistics and exports.

Every query takes a set of office ids, so a view across several offices (a programme
administrator's) is a matter of passing more than one.
"""
