"""Rules and content types: plain functions and models, easy to test and benchmark."""
