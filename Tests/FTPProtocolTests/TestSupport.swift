import NIOCore

@testable import FTPProtocol

func ascii(_ text: String) -> [UInt8] { Array(text.utf8) }

func parse(_ bytes: [UInt8]) throws(FTPProtocolError) -> FTPCommandLine {
    try FTPCommandLine(parsing: ByteBuffer(bytes: bytes))
}

/// Feeds `input` to a fresh decoder in chunks of `chunk` bytes and collects every event.
func decodeAll(_ input: [UInt8], chunk: Int, maximumLineLength: Int = 4096) -> (events: [FTPLineEvent], left: Int, maxBuffered: Int) {
    var decoder = FTPLineDecoder(maximumLineLength: maximumLineLength)
    var buffer = ByteBuffer()
    var events: [FTPLineEvent] = []
    var maxBuffered = 0
    var offset = 0
    while offset < input.count {
        buffer.writeBytes(input[offset..<min(offset + chunk, input.count)])
        offset += chunk
        maxBuffered = max(maxBuffered, buffer.readableBytes)
        while let event = decoder.decode(buffer: &buffer) { events.append(event) }
    }
    return (events, buffer.readableBytes, maxBuffered)
}

func lineEvent(_ text: String) -> FTPLineEvent { .line(ByteBuffer(string: text)) }
