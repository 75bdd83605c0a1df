"""The HTTP API: submit and read. Admin actions are CLI-only."""
