import Crypto
import CryptoExtras
import NIOCore
import NIOSSH
import Testing

@testable import SSHCiphers

private var schemeTypes: [NIOSSHTransportProtection.Type] {
    [AES128CTRHMACSHA256TransportProtection.self, AES256CTRHMACSHA256TransportProtection.self]
}

// MARK: - Known-answer tests

@Suite struct AESCTRKeystreamTests {
    static let counter = hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
    static let plaintext = hex(
        "6bc1bee22e409f96e93d7e117393172a" + "ae2d8a571e03ac9c9eb76fac45af8e51"
            + "30c81c46a35ce411e5fbc1191a0a52ef" + "f69f2445df4f9b17ad2b417be66c3710"
    )

    @Test func nistSP800_38A_F_5_1_CTR_AES128() throws {
        var keystream = try AESCTRKeystream(
            key: SymmetricKey(data: hex("2b7e151628aed2a6abf7158809cf4f3c")),
            initialCounter: Self.counter
        )
        let ciphertext = try keystream.apply(Self.plaintext)
        #expect(
            ciphertext
                == hex(
                    "874d6191b620e3261bef6864990db6ce" + "9806f66b7970fdff8617187bb9fffdff"
                        + "5ae4df3edbd5d35e5b4f09020db03eab" + "1e031dda2fbe03d1792170a0f3009cee"
                )
        )
        #expect(keystream.counter == hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdff03"))
    }

    @Test func nistSP800_38A_F_5_5_CTR_AES256() throws {
        var keystream = try AESCTRKeystream(
            key: SymmetricKey(data: hex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")),
            initialCounter: Self.counter
        )
        let ciphertext = try keystream.apply(Self.plaintext)
        #expect(
            ciphertext
                == hex(
                    "601ec313775789a5b7a7f504bbf3d228" + "f443e3ca4d62b59aca84e990cacaf5c5"
                        + "2b0930daa23de94ce87017ba2d84988d" + "dfc9c58db67aada613c2dd08457941a6"
                )
        )
    }

    @Test func keystreamContinuesAcrossCalls() throws {
        let key = SymmetricKey(data: hex("2b7e151628aed2a6abf7158809cf4f3c"))
        var whole = try AESCTRKeystream(key: key, initialCounter: Self.counter)
        var pieces = try AESCTRKeystream(key: key, initialCounter: Self.counter)
        let expected = try whole.apply(Self.plaintext)
        var actual: [UInt8] = []
        actual += try pieces.apply(Array(Self.plaintext[0..<16]))
        actual += try pieces.apply(Array(Self.plaintext[16..<48]))
        actual += try pieces.apply(Array(Self.plaintext[48..<64]))
        #expect(actual == expected)
    }

    /// The counter is one 128-bit integer: check the carry across the 32-, 64- and 128-bit
    /// boundaries against a block-at-a-time reference built from the raw AES permutation.
    @Test(arguments: [
        "000102030405060708090a0bfffffffe",
        "0001020304050607fffffffffffffffe",
        "fffffffffffffffffffffffffffffffe",
    ])
    func counterCarriesAcross128Bits(start: String) throws {
        let key = SymmetricKey(size: .bits128)
        var counter = hex(start)
        let plaintext = randomBytes(16 * 5)

        var keystream = try AESCTRKeystream(key: key, initialCounter: counter)
        let actual = try keystream.apply(plaintext)

        var expected: [UInt8] = []
        for block in 0..<5 {
            var pad = counter
            try AES.permute(&pad, key: key)
            for index in 0..<16 {
                expected.append(plaintext[block * 16 + index] ^ pad[index])
            }
            for index in stride(from: 15, through: 0, by: -1) {
                counter[index] &+= 1
                if counter[index] != 0 { break }
            }
        }
        #expect(actual == expected)
        #expect(keystream.counter == counter)
    }

    @Test func rejectsPartialBlocksAndBadParameters() throws {
        var keystream = try AESCTRKeystream(key: SymmetricKey(size: .bits128), initialCounter: Self.counter)
        #expect(throws: SSHTransportProtectionError.invalidPacketLength(15)) {
            _ = try keystream.apply(Array(repeating: 0, count: 15))
        }
        #expect(throws: SSHTransportProtectionError.invalidIVSize) {
            _ = try AESCTRKeystream(key: SymmetricKey(size: .bits128), initialCounter: [UInt8](repeating: 0, count: 12))
        }
        #expect(throws: SSHTransportProtectionError.invalidKeySize) {
            _ = try AESCTRKeystream(key: SymmetricKey(data: [UInt8](repeating: 0, count: 20)), initialCounter: Self.counter)
        }
    }
}

@Suite struct HMACSHA256KnownAnswerTests {
    /// RFC 4231 §4.2, test case 1.
    @Test func rfc4231TestCase1() {
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array("Hi There".utf8),
            using: SymmetricKey(data: [UInt8](repeating: 0x0b, count: 20))
        )
        #expect(Array(mac) == hex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"))
    }

    /// RFC 4231 §4.3, test case 2.
    @Test func rfc4231TestCase2() {
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array("what do ya want for nothing?".utf8),
            using: SymmetricKey(data: Array("Jefe".utf8))
        )
        #expect(Array(mac) == hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"))
    }
}

// MARK: - Transport protection

@Suite struct AESCTRTransportProtectionTests {
    @Test func schemeNamesAndSizes() {
        #expect(AES128CTRHMACSHA256TransportProtection.cipherName == "aes128-ctr")
        #expect(AES256CTRHMACSHA256TransportProtection.cipherName == "aes256-ctr")
        for scheme in schemeTypes {
            #expect(scheme.macName == "hmac-sha2-256")
            #expect(scheme.cipherBlockSize == 16)
            #expect(scheme.keySizes.ivSize == 16)
            #expect(scheme.keySizes.macKeySize == 32)
        }
        #expect(AES128CTRHMACSHA256TransportProtection.keySizes.encryptionKeySize == 16)
        #expect(AES256CTRHMACSHA256TransportProtection.keySizes.encryptionKeySize == 32)
        #expect(
            WharfTransportProtection.schemes.map { $0.cipherName } == [
                "aes256-gcm@openssh.com", "aes128-gcm@openssh.com", "aes256-ctr", "aes128-ctr",
            ]
        )
    }

    /// The wire form is AES-CTR over the whole packet followed by
    /// HMAC-SHA256(mac key, uint32 sequence number || unencrypted packet).
    @Test func wireFormatMatchesPrimitives() throws {
        let keys = KeyPair(encryptionKeySize: 16, ivSize: 16)
        let protection = try AES128CTRHMACSHA256TransportProtection(initialKeys: keys.sender)
        var reference = try AESCTRKeystream(
            key: keys.sender.outboundEncryptionKey,
            initialCounter: keys.sender.initialOutboundIV
        )

        for (sequenceNumber, payloadSize) in [(UInt32(3), 7), (4, 33), (5, 0)] {
            let plaintext = plaintextPacket(lengthEncrypted: true, payload: randomBytes(payloadSize))
            var wire = plaintext
            try protection.encryptPacket(&wire, sequenceNumber: sequenceNumber)

            var expectedMACInput: [UInt8] = withUnsafeBytes(of: sequenceNumber.bigEndian) { Array($0) }
            expectedMACInput += bytes(plaintext)
            let expectedMAC = Array(
                HMAC<SHA256>.authenticationCode(for: expectedMACInput, using: keys.sender.outboundMACKey)
            )
            let expectedCiphertext = try reference.apply(bytes(plaintext))

            #expect(bytes(wire) == expectedCiphertext + expectedMAC)
        }
    }

    @Test(arguments: [0, 1])
    func roundTripAcrossManyPackets(schemeIndex: Int) throws {
        let scheme = schemeTypes[schemeIndex]
        let keys = KeyPair(encryptionKeySize: scheme.keySizes.encryptionKeySize, ivSize: 16)
        let sender = try scheme.init(initialKeys: keys.sender)
        let receiver = try scheme.init(initialKeys: keys.receiver)

        let payloads = [0, 1, 10, 11, 12, 27, 100, 1000, 32768, 5].map { randomBytes($0) }
        let firstSequenceNumber = UInt32.max - 3  // also crosses the sequence number wrap

        // Everything goes into one stream, as it would arrive on a socket.
        var stream = ByteBuffer()
        for (offset, payload) in payloads.enumerated() {
            var packet = plaintextPacket(lengthEncrypted: true, payload: payload)
            try sender.encryptPacket(&packet, sequenceNumber: firstSequenceNumber &+ UInt32(offset))
            #expect(packet.readableBytes % 16 == sender.macBytes % 16)
            stream.writeBuffer(&packet)
        }

        for (offset, payload) in payloads.enumerated() {
            let received = try readPacket(
                from: &stream,
                using: receiver,
                sequenceNumber: firstSequenceNumber &+ UInt32(offset)
            )
            #expect(bytes(received) == payload)
        }
        #expect(stream.readableBytes == 0)
    }

    @Test func bothDirectionsAndRekey() throws {
        var keys = KeyPair(encryptionKeySize: 32, ivSize: 16)
        let client = try AES256CTRHMACSHA256TransportProtection(initialKeys: keys.sender)
        let server = try AES256CTRHMACSHA256TransportProtection(initialKeys: keys.receiver)

        for round in 0..<2 {
            for sequenceNumber in UInt32(0)..<4 {
                let request = randomBytes(20 + Int(sequenceNumber))
                var wire = plaintextPacket(lengthEncrypted: true, payload: request)
                try client.encryptPacket(&wire, sequenceNumber: sequenceNumber)
                #expect(bytes(try readPacket(from: &wire, using: server, sequenceNumber: sequenceNumber)) == request)

                let response = randomBytes(50 * Int(sequenceNumber))
                wire = plaintextPacket(lengthEncrypted: true, payload: response)
                try server.encryptPacket(&wire, sequenceNumber: sequenceNumber)
                #expect(bytes(try readPacket(from: &wire, using: client, sequenceNumber: sequenceNumber)) == response)
            }
            if round == 0 {
                keys = KeyPair(encryptionKeySize: 32, ivSize: 16)
                try client.updateKeys(keys.sender)
                try server.updateKeys(keys.receiver)
            }
        }
    }

    @Test(arguments: ["mac", "ciphertext", "sequenceNumber"])
    func rejectsTampering(what: String) throws {
        let keys = KeyPair(encryptionKeySize: 16, ivSize: 16)
        let sender = try AES128CTRHMACSHA256TransportProtection(initialKeys: keys.sender)
        let receiver = try AES128CTRHMACSHA256TransportProtection(initialKeys: keys.receiver)

        var wire = plaintextPacket(lengthEncrypted: true, payload: randomBytes(40))
        try sender.encryptPacket(&wire, sequenceNumber: 9)
        var sequenceNumber: UInt32 = 9
        switch what {
        case "mac":
            let index = wire.writerIndex - 1
            wire.setInteger(wire.getInteger(at: index, as: UInt8.self)! ^ 0x01, at: index)
        case "ciphertext":
            let index = wire.readerIndex + 20
            wire.setInteger(wire.getInteger(at: index, as: UInt8.self)! ^ 0x80, at: index)
        default:
            sequenceNumber = 10
        }

        #expect(throws: SSHTransportProtectionError.macVerificationFailed) {
            _ = try readPacket(from: &wire, using: receiver, sequenceNumber: sequenceNumber)
        }
    }

    @Test func rejectsLengthsThatAreNotWholeBlocks() throws {
        let keys = KeyPair(encryptionKeySize: 16, ivSize: 16)
        let sender = try AES128CTRHMACSHA256TransportProtection(initialKeys: keys.sender)
        let receiver = try AES128CTRHMACSHA256TransportProtection(initialKeys: keys.receiver)

        // Outbound: a packet that is not a multiple of the block size.
        var short = ByteBuffer(bytes: [UInt8](repeating: 0, count: 20))
        #expect(throws: SSHTransportProtectionError.invalidPacketLength(20)) {
            try sender.encryptPacket(&short, sequenceNumber: 0)
        }

        // Inbound: a decrypted length field that does not describe whole blocks.
        var wire = plaintextPacket(lengthEncrypted: true, payload: randomBytes(40))
        try sender.encryptPacket(&wire, sequenceNumber: 0)
        try receiver.decryptFirstBlock(&wire)
        let length = wire.getInteger(at: wire.readerIndex, as: UInt32.self)!
        wire.setInteger(length + 1, at: wire.readerIndex)
        wire.writeInteger(UInt8(0))  // keep the buffer consistent with the forged length
        #expect(throws: SSHTransportProtectionError.invalidPacketLength(Int(length) + 5)) {
            _ = try receiver.decryptAndVerifyRemainingPacket(&wire, sequenceNumber: 0)
        }
    }

    @Test func rejectsWrongKeySizes() throws {
        let keys = KeyPair(encryptionKeySize: 16, ivSize: 16)
        #expect(throws: SSHTransportProtectionError.invalidKeySize) {
            _ = try AES256CTRHMACSHA256TransportProtection(initialKeys: keys.sender)
        }
        var badMAC = keys.sender
        badMAC.inboundMACKey = SymmetricKey(size: .bits128)
        #expect(throws: SSHTransportProtectionError.invalidMACKeySize) {
            _ = try AES128CTRHMACSHA256TransportProtection(initialKeys: badMAC)
        }
        var badIV = keys.sender
        badIV.initialOutboundIV = Array(repeating: 0, count: 12)
        #expect(throws: SSHTransportProtectionError.invalidIVSize) {
            _ = try AES128CTRHMACSHA256TransportProtection(initialKeys: badIV)
        }
    }
}
