/// Errors from Wharf's SSH transport protection schemes (AES-GCM, AES-CTR + HMAC).
///
/// NIOSSH closes the connection on any of them; the message names the packet's fault.
public enum SSHTransportProtectionError: Error, Hashable, Sendable {
    /// An encryption key is not the size the cipher needs.
    case invalidKeySize
    /// An IV is not the size the cipher needs (16 bytes for CTR, 12 for GCM).
    case invalidIVSize
    /// A MAC key is not 32 bytes.
    case invalidMACKeySize
    /// A packet is shorter than one block, not a whole number of blocks, or does not match the
    /// length its buffer holds.
    case invalidPacketLength(Int)
    /// An inbound packet's MAC or AEAD tag does not match its contents.
    case macVerificationFailed
    /// An inbound packet has fewer than 4 bytes of padding.
    case insufficientPadding
    /// An inbound packet's padding is longer than the packet.
    case excessPadding
    /// OpenSSL refused a cipher operation (named) that cannot fail on valid input.
    case cipherFailure(String)
}
