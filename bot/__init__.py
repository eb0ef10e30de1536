"""The edge: entry points and channels. The only package that imports aiogram."""
