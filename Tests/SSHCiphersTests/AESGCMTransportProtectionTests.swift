import Crypto
import NIOCore
import NIOSSH
import Testing

@testable import SSHCiphers

/// The next AES-GCM nonce in SSH: the last 8 bytes are a big-endian counter that wraps without
/// touching the 4 fixed bytes (RFC 5647 §7.1).
private func incremented(_ nonce: [UInt8]) -> [UInt8] {
    var next = nonce
    for index in stride(from: 11, through: 4, by: -1) {
        next[index] &+= 1
        if next[index] != 0 { break }
    }
    return next
}

/// The wire form of one packet, built from swift-crypto's AES-GCM as an independent reference:
/// clear length || ciphertext || tag, the length being the associated data.
private func referencePacket(_ plaintext: ByteBuffer, key: SymmetricKey, nonce: [UInt8]) throws -> [UInt8] {
    let all = bytes(plaintext)
    let length = Array(all[0..<4])
    let sealed = try AES.GCM.seal(all[4...], using: key, nonce: AES.GCM.Nonce(data: nonce), authenticating: length)
    return length + Array(sealed.ciphertext) + Array(sealed.tag)
}

private var gcmSchemes: [NIOSSHTransportProtection.Type] {
    [AES128GCMOpenSSHTransportProtection.self, AES256GCMOpenSSHTransportProtection.self]
}

/// NIOSSH's own implementation of the scheme of the same name.
private func bundledScheme(named name: String) throws -> NIOSSHTransportProtection.Type {
    try #require(Constants.bundledTransportProtectionSchemes.first { $0.cipherName == name })
}

@Suite struct AESGCMTransportProtectionTests {
    @Test func schemeNamesAndSizes() {
        #expect(AES128GCMOpenSSHTransportProtection.cipherName == "aes128-gcm@openssh.com")
        #expect(AES256GCMOpenSSHTransportProtection.cipherName == "aes256-gcm@openssh.com")
        #expect(AES128GCMOpenSSHTransportProtection.keySizes.encryptionKeySize == 16)
        #expect(AES256GCMOpenSSHTransportProtection.keySizes.encryptionKeySize == 32)
        for scheme in gcmSchemes {
            #expect(scheme.macName == nil)
            #expect(scheme.cipherBlockSize == 16)
            #expect(scheme.keySizes.ivSize == 12)
        }
    }

    /// Each packet matches swift-crypto's AES-GCM with the nonce counting up, including a carry
    /// through the counter's bytes and its wrap to zero (the 4 fixed bytes never change).
    @Test(arguments: ["0102030400000000fffffffe", "a1b2c3d4fffffffffffffffe"])
    func wireFormatMatchesReference(initialNonce: String) throws {
        for scheme in gcmSchemes {
            var keys = KeyPair(encryptionKeySize: scheme.keySizes.encryptionKeySize, ivSize: 12)
            keys.sender = NIOSSHSessionKeys(
                initialInboundIV: keys.sender.initialInboundIV, initialOutboundIV: hex(initialNonce),
                inboundEncryptionKey: keys.sender.inboundEncryptionKey,
                outboundEncryptionKey: keys.sender.outboundEncryptionKey,
                inboundMACKey: keys.sender.inboundMACKey, outboundMACKey: keys.sender.outboundMACKey
            )
            let protection = try scheme.init(initialKeys: keys.sender)
            var nonce = hex(initialNonce)
            for payloadSize in [0, 1, 11, 27, 32_768, 5] {
                let plaintext = plaintextPacket(lengthEncrypted: false, payload: randomBytes(payloadSize))
                let expected = try referencePacket(plaintext, key: keys.sender.outboundEncryptionKey, nonce: nonce)
                var wire = plaintext
                try protection.encryptPacket(&wire, sequenceNumber: 0)
                #expect(bytes(wire) == expected)
                nonce = incremented(nonce)
            }
        }
    }

    /// Ours and NIOSSH's bundled implementation read each other's packets, across several packets
    /// (so the nonces stay in step) and in both directions.
    @Test func interoperatesWithNIOSSHBundledScheme() throws {
        for scheme in gcmSchemes {
            let keys = KeyPair(encryptionKeySize: scheme.keySizes.encryptionKeySize, ivSize: 12)
            let bundled = try bundledScheme(named: scheme.cipherName)
            let pairs: [(NIOSSHTransportProtection, NIOSSHTransportProtection)] = [
                (try scheme.init(initialKeys: keys.sender), try bundled.init(initialKeys: keys.receiver)),
                (try bundled.init(initialKeys: keys.sender), try scheme.init(initialKeys: keys.receiver)),
            ]
            for (sender, receiver) in pairs {
                for (sequenceNumber, payloadSize) in [100, 0, 32_768, 3, 65_000].enumerated() {
                    let payload = randomBytes(payloadSize)
                    var wire = plaintextPacket(lengthEncrypted: false, payload: payload)
                    try sender.encryptPacket(&wire, sequenceNumber: UInt32(sequenceNumber))
                    let received = try readPacket(from: &wire, using: receiver, sequenceNumber: UInt32(sequenceNumber))
                    #expect(bytes(received) == payload)
                    #expect(wire.readableBytes == 0)
                }
            }
        }
    }

    /// After a key exchange both sides start again from the new keys' nonces.
    @Test func updatedKeysTakeEffect() throws {
        var keys = KeyPair(encryptionKeySize: 16, ivSize: 12)
        let sender = try AES128GCMOpenSSHTransportProtection(initialKeys: keys.sender)
        let receiver = try AES128GCMOpenSSHTransportProtection(initialKeys: keys.receiver)
        for round in 0..<3 {
            for sequenceNumber in 0..<4 {
                let payload = randomBytes(64 * (sequenceNumber + 1))
                var wire = plaintextPacket(lengthEncrypted: false, payload: payload)
                try sender.encryptPacket(&wire, sequenceNumber: UInt32(sequenceNumber))
                #expect(bytes(try readPacket(from: &wire, using: receiver, sequenceNumber: UInt32(sequenceNumber))) == payload)
            }
            keys = KeyPair(encryptionKeySize: 16, ivSize: 12)
            try sender.updateKeys(keys.sender)
            try receiver.updateKeys(keys.receiver)
            _ = round
        }
    }

    /// A flipped bit anywhere (length, ciphertext, tag) fails authentication; nothing is returned.
    @Test(arguments: [2, 4, 20, 47, 51])
    func tamperedPacketIsRejected(flippedByte: Int) throws {
        let keys = KeyPair(encryptionKeySize: 16, ivSize: 12)
        let sender = try AES128GCMOpenSSHTransportProtection(initialKeys: keys.sender)
        let receiver = try AES128GCMOpenSSHTransportProtection(initialKeys: keys.receiver)
        var wire = plaintextPacket(lengthEncrypted: false, payload: randomBytes(20))
        try sender.encryptPacket(&wire, sequenceNumber: 0)
        #expect(wire.readableBytes == 4 + 32 + 16)
        let byte = try #require(wire.getInteger(at: flippedByte, as: UInt8.self))
        wire.setInteger(byte ^ 0x01, at: flippedByte)
        // A changed length no longer matches the packet's size; any other change fails the tag.
        #expect(throws: SSHTransportProtectionError.self) {
            var packet = wire
            _ = try receiver.decryptAndVerifyRemainingPacket(&packet, sequenceNumber: 0)
        }
        if flippedByte >= 4 {
            #expect(throws: SSHTransportProtectionError.macVerificationFailed) {
                var packet = wire
                _ = try AES128GCMOpenSSHTransportProtection(initialKeys: keys.receiver)
                    .decryptAndVerifyRemainingPacket(&packet, sequenceNumber: 0)
            }
        }
    }

    /// Authentic packets with impossible padding or length are refused, not sliced.
    @Test func malformedAuthenticPacketsAreRejected() throws {
        let keys = KeyPair(encryptionKeySize: 16, ivSize: 12)
        func sealed(_ body: [UInt8]) throws -> ByteBuffer {
            var plaintext = ByteBuffer()
            plaintext.writeInteger(UInt32(body.count))
            plaintext.writeBytes(body)
            return ByteBuffer(bytes: try referencePacket(plaintext, key: keys.sender.outboundEncryptionKey, nonce: keys.sender.initialOutboundIV))
        }
        func open(_ packet: ByteBuffer) throws {
            var packet = packet
            _ = try AES128GCMOpenSSHTransportProtection(initialKeys: keys.receiver)
                .decryptAndVerifyRemainingPacket(&packet, sequenceNumber: 0)
        }
        #expect(throws: SSHTransportProtectionError.insufficientPadding) {
            try open(try sealed([3] + [UInt8](repeating: 0, count: 15)))
        }
        #expect(throws: SSHTransportProtectionError.excessPadding) {
            try open(try sealed([200] + [UInt8](repeating: 0, count: 15)))
        }
        #expect(throws: SSHTransportProtectionError.invalidPacketLength(4 + 17 + 16)) {
            try open(try sealed([4] + [UInt8](repeating: 0, count: 16)))
        }
        #expect(throws: SSHTransportProtectionError.invalidPacketLength(4 + 16)) {
            try open(ByteBuffer(bytes: [0, 0, 0, 0] + [UInt8](repeating: 0, count: 16)))
        }
    }

    @Test func wrongKeyOrNonceSizesAreRefused() {
        let keys = KeyPair(encryptionKeySize: 16, ivSize: 12)
        #expect(throws: SSHTransportProtectionError.invalidKeySize) {
            _ = try AES256GCMOpenSSHTransportProtection(initialKeys: keys.sender)
        }
        let longIVs = KeyPair(encryptionKeySize: 16, ivSize: 16)
        #expect(throws: SSHTransportProtectionError.invalidIVSize) {
            _ = try AES128GCMOpenSSHTransportProtection(initialKeys: longIVs.sender)
        }
    }
}
