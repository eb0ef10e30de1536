"""The product: conversation flows, pure async Python. Imports nothing from bot/, storage/ or aiogram."""
