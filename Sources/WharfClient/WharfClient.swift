// The Wharf client library: see SFTPClient and SSHClientConnection.
