"""Services above the store: the notification area and e-mail authorizations."""
