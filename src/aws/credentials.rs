//! The credentials `--sigv4` signs with: AWS's standard chain
//! (environment, shared config and credentials files with `--aws-profile`
//! or `AWS_PROFILE`, SSO, web identity, ECS, instance role), built when
//! first asked, so that configuration, which is not async, can hand the
//! engine a provider.
//!
//! The chain's own calls (STS for a role or web identity, SSO) need a
//! region. Left to itself the chain asks the environment, the profile and
//! then the instance metadata service, which off EC2 fails slowly and logs
//! a warning even under `-q`; the signing region stands in for the last.

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::environment::region::EnvironmentVariableRegionProvider;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::region::ProfileFileRegionProvider;
use aws_config::Region;
use aws_credential_types::provider::{self, ProvideCredentials, SharedCredentialsProvider};
use tokio::sync::OnceCell;

/// The standard chain for `profile` (`None`: AWS_PROFILE, else default);
/// its own calls go to the environment's or the profile's region, else to
/// `region` (the region signed for).
pub fn standard_chain(profile: Option<String>, region: String) -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(LazyChain {
        profile,
        region,
        chain: OnceCell::new(),
    })
}

#[derive(Debug)]
struct LazyChain {
    profile: Option<String>,
    region: String,
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
                    let mut from_profile = ProfileFileRegionProvider::builder();
                    let mut builder = DefaultCredentialsChain::builder();
                    if let Some(name) = &self.profile {
                        from_profile = from_profile.profile_name(name);
                        builder = builder.profile_name(name);
                    }
                    let region = RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
                        .or_else(from_profile.build())
                        .or_else(Region::new(self.region.clone()));
                    builder.region(region).build().await
                })
                .await;
            chain.provide_credentials().await
        })
    }
}
