"""What the bot asks: one module per conversation flow."""
