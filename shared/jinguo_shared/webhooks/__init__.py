"""Signed webhooks (Standard Webhooks 1.0): a partner's subscriptions to a service's feed.

subscriptions.py  the subscriptions, their outboxes and delivery logs (kernel tables)
addresses.py      where a webhook may go (https, no private address unless allowed)
signing.py        the secret and the signature headers
delivery.py       the projector role's consumer that fills the outboxes, and the senders
router.py         `/<service>/webhooks`
"""
