/// Public key lines made with `ssh-keygen -q -t TYPE -N '' -C COMMENT`; fingerprints from `ssh-keygen -l`.
enum KeyFixtures {
    static let ed25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP77v8b/htsLZbG2K9hRUWEuO0gRGTfHnfVb+0iBs+Ra ed25519@fixture"
    static let ed25519Fingerprint = "SHA256:GRU4rM6hrQz0FWtcnMvdsrpFVv+VXAeae54kxn+LcKo"

    static let ecdsa256 = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBOpMgPRDL5rM/LaSu6pUGLQ1XkI//3ecWQ4TTNfYwXGr3p3XYqKJh8eNEdEuqM6IMAsZQ4+j1BLJoA4HIhnbHwE= ecdsab256@fixture"
    static let ecdsa256Fingerprint = "SHA256:WvEm81b1xttupUACmbaoYENXL0yIF8EeRlIoDqNFSl0"

    static let ecdsa384 = "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBPKsFXcvBBfbBI/W26H2RjBZqJJa0MHnTDJqiIm+Lp2JssODWpFtDvvWL0ux2OoXlZdLWBFb1G33fBEpBChJTRRLtvUssddZeBrWg6Ziby/K9Or27T/S1wvLUxc5b647WQ== ecdsab384@fixture"
    static let ecdsa384Fingerprint = "SHA256:EQtjZ5FrDdPplJm1yStz5WaHt1PBE9MjVMATvC3BYg0"

    static let ecdsa521 = "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBABgObQGQKeP1Q0sSPmOyt+MI6+ynh1e2I8uzEUgBDEynBbRRy5DgK0U2L1bC+oeJnPq/2GmJPUS+ijArtxfMtI5sgFZ1evOO3zu8Zcuw4v9eTq+e5ZU455tdjuwGjmRZe4g7iwdGDMFHRd9uTKTy92iiFBPIWKpgQlw+Cz6T6OIQoABGA== ecdsab521@fixture"
    static let ecdsa521Fingerprint = "SHA256:GMIv40foLvSqxUD9VL0/w3JqEI0GCRXmZfzApKU3FJM"

    static let rsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC3IWZiFceN8kqfZW5Zh/odNVW5N7l5QVA9GE7vDWjHRD6+d1djMw+9IYkZpGelbwZQiMEsotU2CadcOORvO7YKrAW3YhQvXcFG+N5FAHRZjbjzb9IVMHRc88TIoHioyRxniYInKs4xGP2gLz5ZzjZBTbikfgMrBjbLjeLNAC/Mi2J6ZiggS9Evx66uoTSXhSkbpeT22j8Hig/tXh18Om3qai6l2JClgj4xviRV097PioKNplcXgUYTsOtWuO2uANaGD2Lr+NTh7Pts7a9iEUbBflb3n37gDO49MGGs4LEYJaG3oA0HEqZXqnJ6j2GI06dndTCglSThVi2at7/+C923 rsab2048@fixture"
}
