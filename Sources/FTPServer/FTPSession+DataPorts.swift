import FTPProtocol
import NIOCore

extension FTPSession {
    /// The control connection's local address as an FTP address (IPv4-mapped IPv6 counts as IPv4).
    private var localFTPAddress: FTPIPAddress? {
        self.localAddress?.ipAddress.flatMap { FTPIPAddress($0) }
    }

    private var peerFTPAddress: FTPIPAddress? {
        self.peerAddress?.ipAddress.flatMap { FTPIPAddress($0) }
    }

    /// Opens a passive listener on the control connection's local address, replacing an earlier one.
    private func openPassiveListener() async -> FTPPassiveListener? {
        self.resetDataPort()
        guard let host = self.localAddress?.ipAddress else { return nil }
        do {
            let listener = try await FTPPassiveListener.open(
                host: host, ports: self.configuration.passivePorts, expectedPeer: self.peerIP,
                tls: self.privateData ? self.environment.tls : nil, on: self.control.channel.eventLoop,
                logger: self.logger.withSessionMetadata)
            self.dataPort = .passive(listener)
            return listener
        } catch {
            self.logger.error("cannot open a passive data port: \(error)")
            return nil
        }
    }

    func passive() async -> CommandResult {
        guard !self.extendedPassiveOnly else { return .reply(503, "PASV not allowed after EPSV ALL.") }
        guard let address = self.configuration.publicHost ?? self.localFTPAddress, address.ipv4Bytes != nil else {
            return .reply(425, "PASV needs IPv4; use EPSV.")
        }
        guard let listener = await self.openPassiveListener() else {
            return .reply(425, "Cannot open a passive data port.")
        }
        let endpoint = FTPHostPort(address: address, port: UInt16(listener.port))
        guard let reply = FTPReply.enteringPassiveMode(endpoint) else { return .reply(425, "PASV needs IPv4; use EPSV.") }
        return .reply(reply)
    }

    func extendedPassive(_ argument: String) async -> CommandResult {
        let parsed: FTPExtendedPassiveArgument
        do {
            parsed = try FTPExtendedPassiveArgument(argument.isEmpty ? nil : argument)
        } catch {
            if case .unsupportedNetworkProtocol = error { return .reply(522, "Network protocol not supported, use (1,2)") }
            return .reply(501, "EPSV takes 1, 2 or ALL.")
        }
        switch parsed {
        case .all:
            self.extendedPassiveOnly = true
            return .reply(200, "EPSV ALL ok: PORT, EPRT and PASV are now refused.")
        case .networkProtocol(let number):
            let controlIsIPv6 = !(self.localFTPAddress?.ipv4Bytes != nil)
            if (number == 2) != controlIsIPv6 {
                return .reply(522, "Network protocol not supported, use (\(controlIsIPv6 ? 2 : 1))")
            }
        case .any:
            break
        }
        guard let listener = await self.openPassiveListener() else {
            return .reply(425, "Cannot open a passive data port.")
        }
        return .reply(FTPReply.enteringExtendedPassiveMode(port: UInt16(listener.port)))
    }

    /// PORT and EPRT: only to the client's own address and never to a privileged port (RFC 2577),
    /// so the server cannot be used to reach other hosts or services (the FTP bounce attack).
    func active(_ argument: String, extended: Bool) -> CommandResult {
        let verb = extended ? "EPRT" : "PORT"
        guard self.configuration.activeModeEnabled else {
            return .reply(502, "Active mode is disabled on this server; use PASV or EPSV.")
        }
        guard !self.extendedPassiveOnly else { return .reply(503, "\(verb) not allowed after EPSV ALL.") }
        let target: FTPHostPort
        do {
            target = extended ? try FTPHostPort(eprtArgument: argument) : try FTPHostPort(portArgument: argument)
        } catch {
            if case .unsupportedNetworkProtocol = error { return .reply(522, "Network protocol not supported, use (1,2)") }
            return .reply(501, "Bad \(verb) argument: \(error).")
        }
        guard let peer = self.peerFTPAddress, Self.sameHost(peer, target.address) else {
            self.logger.warning("refused \(verb) to \(target.address): not the client's address \(self.peerIP)")
            return .reply(501, "Rejected data connection to a foreign address.")
        }
        guard target.port >= 1024 else {
            self.logger.warning("refused \(verb) to privileged port \(target.port)")
            return .reply(501, "Rejected data connection to a privileged port.")
        }
        let address: SocketAddress
        do {
            // Connect to the address the control connection came from, in its own family.
            address = try SocketAddress(ipAddress: self.peerIP, port: Int(target.port))
        } catch {
            return .reply(501, "Bad \(verb) address.")
        }
        self.resetDataPort()
        self.dataPort = .active(address)
        return .reply(200, "\(verb) command successful. Consider using PASV.")
    }

    static func sameHost(_ first: FTPIPAddress, _ second: FTPIPAddress) -> Bool {
        if let a = first.ipv4Bytes, let b = second.ipv4Bytes { return a == b }
        return first.bytes == second.bytes
    }
}
