import Foundation

/// A self-signed certificate for localhost / 127.0.0.1, valid for 100 years, made for these tests only.
enum TestCertificate {
    static let certificatePEM = """
-----BEGIN CERTIFICATE-----
MIIDJzCCAg+gAwIBAgIUexnbxAn6actQC6LPZf8zBLNlOQowDQYJKoZIhvcNAQEL
BQAwFDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyMjA4MjUzM1oYDzIxMjYx
MDI5MDgyNTMzWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwggEiMA0GCSqGSIb3DQEB
AQUAA4IBDwAwggEKAoIBAQDFn1UJT920SyJj6G3ofiwH9xC3Snkd5TWpicDg3kOg
7oUZOEHX4HH2Gy9SILNFeMppxY9iiWdiQqpixoNfwbbDW8wXifHJUHGNAZZSYtbf
UKOTLVmQXRUjtdghobUw1RPDP9PJr6hDjsaWckEDaFyZAPEWAdoZeiG/QTdREjcn
YeoqMjC58OFoJmCZiThGmZFjeYWNhtUFmhEJJWD7L1BP+nUeyEqgw42bNJoCvF4M
mBMiI//j3JY2hqeIfKDLarp/3QHgVp49YSrQSiwH/iHYFN35RpvvmW4T2nG1zWJG
2P20YtdmH7vlkM4FkqxrMerYzr8U/pc0qhTJN1YL46jNAgMBAAGjbzBtMB0GA1Ud
DgQWBBTH/5idMpq1unMZNUU163B0ZBmpwzAfBgNVHSMEGDAWgBTH/5idMpq1unMZ
NUU163B0ZBmpwzAPBgNVHRMBAf8EBTADAQH/MBoGA1UdEQQTMBGCCWxvY2FsaG9z
dIcEfwAAATANBgkqhkiG9w0BAQsFAAOCAQEAPKndTi9PfzneowFxt/Ei5imrD86d
nzkAKB4J/45mm/jXEl9vZ7p1Z5yyrMxDizQBTEj0Nw7anhAU/axybsNCkq7zIM1u
zELRvLTZJlpmxveJRT8jdVWGq6hNee9F2MK0fp3nOlwn0BMqPfNyzXN4E5Fcv/1q
lxOlawYq+I+kO1T4rdTK+BTVuj2uyp+CAZ2nHav8u1qEdNe6mIop1Vldmn/K172D
AGxVgouWw6VUQt5+m9MZ3Bi8bfWMJDBRAezWhpT6gb4i5Ya5gochQn0xgIRu/17B
3QxefUez+A0iBLd0OS3QXQFzIqyWRDmfZKesgsM5QwemiBzc0J2fLs6/EQ==
-----END CERTIFICATE-----
"""

    static let privateKeyPEM = """
-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQDFn1UJT920SyJj
6G3ofiwH9xC3Snkd5TWpicDg3kOg7oUZOEHX4HH2Gy9SILNFeMppxY9iiWdiQqpi
xoNfwbbDW8wXifHJUHGNAZZSYtbfUKOTLVmQXRUjtdghobUw1RPDP9PJr6hDjsaW
ckEDaFyZAPEWAdoZeiG/QTdREjcnYeoqMjC58OFoJmCZiThGmZFjeYWNhtUFmhEJ
JWD7L1BP+nUeyEqgw42bNJoCvF4MmBMiI//j3JY2hqeIfKDLarp/3QHgVp49YSrQ
SiwH/iHYFN35RpvvmW4T2nG1zWJG2P20YtdmH7vlkM4FkqxrMerYzr8U/pc0qhTJ
N1YL46jNAgMBAAECggEAEyIG8Jzb4R25GaUiJvU4PBkudCBws3VCicR9eQfr0kPl
fPiWX1kqj2I4ZaIm2R4FstHevPKCoN/FcUS46Wdu02Eq1EiVsSDprXYu4JETLpG3
FIO6fSCV8FwlrbPjP/QRMsEWNxubldbX4S70nmjXNjUCIlhRjk/lvoeI3H9/+X70
vXjpQaGuKZXCjtm6e649izOVhmmc3QyFCxfjHi9DgxgMWb7K5WQX+ZEax0LefWan
6M1hSDM2bL9ClkkgDUqWz+RtnaI4kr0Gp6xl7IBwDKs24+ccUALtKJp4g8gly2dP
fXbvZKNti5T5VflAT9XKyqueGTuBer6ticG3AcvoHQKBgQDrCEQbDBfOtdEJxiWw
LbR6/9i9Cn9QvmLi6Xo/YDejV2Tepd6Kq1my/uMbmWngYsM4RxQVDz+A5R2UxWNH
87xfUgkbfuzeKeaRvkHgamISEb9IKAw7c2J4i29QvDtEXD/4SzslOoPbrv4ZAw60
KtcZK785L+/TES8LDGHSSSFGiwKBgQDXQLA0KMl3l9Qkpm5Uwnu7rAFDaHnEe8WZ
tCWyNIMBUlVMKXbwARL5AWI5SF+IbNJCm+hqGd51yeYDfTCSuScwwVNgBf51wlFE
WrwtZmaUeIkBNy8m3XsjYr/kfCV67wgZl9wC4YodqS1cAc5RNmKKUwfTfNFUaIxB
MmTqn9KRBwKBgHfvYOm4cxGt4D0vmx3bROUbV9un1q46aTXH1PUwQVQeDcA8PmLe
68gWn4f+8nNpkptOUiYpAMvinwTC8VXPQAoYT8NzMqZwFVO8FdvSDbeQzN6iaROR
XueKp8Q4Obo5pP8sTMNDp/PbyZiz4bX4woj6tPsWxjgb5biqmeR4Iv3fAoGAaAFX
ojw67FAuLu9DzCyUgJ+hlKJ8g5WSaqwCstJwokjX8g7u6xR5yFsEzMzNbCu4hHq0
l9+b/6noO7NXru1LpGElGfaLdvbHMZHt7rnVwtNiz3WMkOjfQL/MHGhn67hnX4Zi
xfmYNLCzvAsbV15ByrhHxcY/lttVOYNSA5PpuC0CgYArrcYVeNV+SWyR3SlKvBlm
NSgr9/vOLOsQpFORwLofuk1E4PpdV8EO13fGZHJuE90s1M0jhoDfLBqRzPfp+HAC
KGvaVTlk/RKlr1aw1p0704RZ1cE2163hXGRIRdEQWnYN8xEfhiNJWi7tdeqPjpXM
2SLBM8G2K5o8L16RXLvYwQ==
-----END PRIVATE KEY-----
"""

    /// Writes both to a fresh directory and returns their paths.
    static func writeFiles() throws -> (certificate: String, key: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("archiverelay-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let cert = dir.appendingPathComponent("cert.pem"), key = dir.appendingPathComponent("key.pem")
        try certificatePEM.write(to: cert, atomically: true, encoding: .utf8)
        try privateKeyPEM.write(to: key, atomically: true, encoding: .utf8)
        return (cert.path, key.path)
    }
}
