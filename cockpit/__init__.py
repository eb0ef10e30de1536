"""The web cockpit of cluster agents (aiohttp, server-rendered pages): `lotse cockpit`."""
