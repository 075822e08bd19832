"""Settings of the accounts app.

Unsubscribe links have no setting: they never expire (SPEC "Unsubscribe links keep working").
"""
