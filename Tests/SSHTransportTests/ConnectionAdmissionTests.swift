import Testing

@testable import SSHTransport

@Suite("Connection limits")
struct ConnectionAdmissionTests {
    @Test func countsPerAddressAndInTotal() {
        let admission = ConnectionAdmission()
        #expect(admission.admit("10.0.0.1", total: 3, perAddress: 2))
        #expect(admission.admit("10.0.0.1", total: 3, perAddress: 2))
        #expect(!admission.admit("10.0.0.1", total: 3, perAddress: 2), "third from one address")
        #expect(admission.admit("10.0.0.2", total: 3, perAddress: 2))
        #expect(!admission.admit("10.0.0.3", total: 3, perAddress: 2), "fourth in total")
        admission.release("10.0.0.1")
        #expect(admission.admit("10.0.0.3", total: 3, perAddress: 2))
        #expect(!admission.admit("10.0.0.1", total: 3, perAddress: 2))
    }
}
