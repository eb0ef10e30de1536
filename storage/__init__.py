"""Storage: SQLModel tables, repositories, unit of work, database setup and migrations."""
