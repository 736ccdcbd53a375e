//! TLS settings of the default transport (the `rustls` feature).

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::BoxError;

/// What the builder was told about TLS.
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsOptions {
    /// Also trust the platform's root certificates.
    pub(crate) native_roots: bool,
    /// Also trust these (PEM, one or more certificates each).
    pub(crate) extra_roots: Vec<Bytes>,
    /// Development only: accept any certificate.
    pub(crate) accept_invalid_certs: bool,
}

impl TlsOptions {
    pub(crate) fn is_default(&self) -> bool {
        !self.native_roots && self.extra_roots.is_empty() && !self.accept_invalid_certs
    }

    /// Checks the PEM now, so a bad file is a builder error.
    pub(crate) fn parse_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, BoxError> {
        let certs = CertificateDer::pem_slice_iter(pem).collect::<Result<Vec<_>, _>>()?;
        if certs.is_empty() {
            return Err("no certificate in the PEM data".into());
        }
        Ok(certs)
    }

    /// A rustls config: Mozilla's roots, the platform's if asked, the
    /// extra ones; or, for development, no verification at all.
    #[allow(
        deprecated,
        reason = "newer rustls 0.23 releases deprecate ring's provider (no post-quantum key \
                  exchange); ring is kept because it builds with a C compiler alone, no cmake"
    )]
    pub(crate) fn client_config(&self) -> Result<rustls::ClientConfig, BoxError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()?;
        if self.accept_invalid_certs {
            tracing::warn!("TLS certificates are not verified (danger_accept_invalid_certs)");
            let verifier = AcceptAnyCertificate(provider.signature_verification_algorithms);
            return Ok(builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth());
        }
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if self.native_roots {
            let native = rustls_native_certs::load_native_certs();
            if native.certs.is_empty() {
                return Err(format!(
                    "no platform root certificates could be loaded ({} errors)",
                    native.errors.len()
                )
                .into());
            }
            // Unparsable platform roots are skipped, as browsers do.
            let _ = roots.add_parsable_certificates(native.certs);
        }
        for pem in &self.extra_roots {
            for cert in TlsOptions::parse_pem(pem)? {
                roots.add(cert)?;
            }
        }
        Ok(builder.with_root_certificates(roots).with_no_client_auth())
    }
}

/// Accepts every server certificate; signatures are still checked, so the
/// handshake is a real one. Development only.
struct AcceptAnyCertificate(WebPkiSupportedAlgorithms);

impl fmt::Debug for AcceptAnyCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AcceptAnyCertificate")
    }
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_is_checked_when_given() {
        assert!(TlsOptions::parse_pem(b"").is_err());
        assert!(TlsOptions::parse_pem(b"not pem at all").is_err());
        let broken = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        assert!(TlsOptions::parse_pem(broken).is_err());
    }

    #[test]
    fn configs_build_for_each_option() {
        assert!(TlsOptions::default().is_default());
        let insecure = TlsOptions {
            accept_invalid_certs: true,
            ..TlsOptions::default()
        };
        assert!(!insecure.is_default());
        assert!(insecure.client_config().is_ok());
        assert!(TlsOptions::default().client_config().is_ok());
    }
}
