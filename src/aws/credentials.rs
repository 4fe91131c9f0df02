//! The credentials `--sigv4` signs with: AWS's standard chain
//! (environment, shared config and credentials files with `--aws-profile`
//! or `AWS_PROFILE`, SSO, web identity, ECS, instance role), built when
//! first asked, so that configuration, which is not async, can hand the
//! engine a provider.

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_credential_types::provider::{self, ProvideCredentials, SharedCredentialsProvider};
use tokio::sync::OnceCell;

/// The standard chain for `profile` (`None`: AWS_PROFILE, else default).
pub fn standard_chain(profile: Option<String>) -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(LazyChain {
        profile,
        chain: OnceCell::new(),
    })
}

#[derive(Debug)]
struct LazyChain {
    profile: Option<String>,
    chain: OnceCell<DefaultCredentialsChain>,
}

impl ProvideCredentials for LazyChain {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(async move {
            let chain = self
                .chain
                .get_or_init(|| async {
                    let mut builder = DefaultCredentialsChain::builder();
                    if let Some(name) = &self.profile {
                        builder = builder.profile_name(name);
                    }
                    builder.build().await
                })
                .await;
            chain.provide_credentials().await
        })
    }
}
