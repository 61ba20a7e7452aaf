"""Errors of the WhatsApp edge."""


class NotWhatsAppPayload(ValueError):
    """The body is JSON but not a WhatsApp Business Account webhook (`object`, `entry[]`)."""
