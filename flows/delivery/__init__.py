"""Where a message is sent: outbox, dispatcher, the one limiter, quiet hours, company delivery."""
