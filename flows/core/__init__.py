"""The engine core: model, context, engine, ports (every Protocol), locks, clock."""
