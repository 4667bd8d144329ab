import Testing
import WharfCore

@Suite("Connection limits")
struct ConnectionAdmissionTests {
    @Test func countsPerAddressAndInTotal() {
        let admission = ConnectionAdmission(maximumConnections: 3, maximumConnectionsPerAddress: 2)
        #expect(admission.admit("10.0.0.1"))
        #expect(admission.admit("10.0.0.1"))
        #expect(!admission.admit("10.0.0.1"), "third from one address")
        #expect(admission.admit("10.0.0.2"))
        #expect(!admission.admit("10.0.0.3"), "fourth in total")
        admission.release("10.0.0.1")
        #expect(admission.admit("10.0.0.3"))
        #expect(!admission.admit("10.0.0.1"))
        #expect(admission.count == 3)
    }
}
