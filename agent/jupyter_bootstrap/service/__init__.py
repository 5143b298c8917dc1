"""Everything about the systemd unit that runs Jupyter: rendering and owning the unit file
(`unit`), systemctl (`systemctl`), the journal (`journal`), what the running server was
started with (`started`) and who holds a port (`port_owner`). The service step, `restart`,
`logs`, `status --json` and `uninstall` all use these same primitives."""
