//! The emulator's default subnets: a load balancer and a VPC link V2 need
//! subnets, and the emulator starts with a default VPC.

use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;

use crate::lab::cloudwatch::REGION;

/// A default subnet of the emulator's default VPC.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Subnet {
    pub id: String,
    pub zone: String,
    pub vpc: String,
    /// `172.31.0.0/20`.
    pub cidr: String,
}

impl Subnet {
    /// The `n`th address of the subnet's block.
    pub fn address(&self, n: u8) -> String {
        let base = self.cidr.split('/').next().unwrap_or("10.0.0.0");
        let mut octets: Vec<&str> = base.split('.').collect();
        let last = octets.pop().and_then(|o| o.parse::<u8>().ok()).unwrap_or(0);
        format!("{}.{}", octets.join("."), last.saturating_add(n))
    }
}

/// The emulator's default subnets, one per zone: a load balancer needs
/// subnets, and the emulator starts with a default VPC. EC2's one read is
/// made by hand in its Query protocol (one signed POST, an XML answer),
/// which costs far less than another SDK crate for a lab-only call.
pub(super) async fn default_subnets(sdk: &SdkConfig) -> Result<Vec<Subnet>, String> {
    let endpoint = sdk.endpoint_url().ok_or("no --aws-endpoint to seed")?;
    let body = "Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=default-for-az&Filter.1.Value.1=true";
    let headers = sign_ec2(sdk, endpoint, body).await?;
    let mut request = reqwest::Client::new()
        .post(endpoint)
        .timeout(crate::aws::CALL_TIMEOUT)
        .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
        .body(body);
    for (k, v) in headers {
        request = request.header(k, v);
    }
    let call = "ec2:DescribeSubnets";
    let response = request.send().await.map_err(|e| format!("{call}: {e}"))?;
    let status = response.status();
    let text = response.text().await.map_err(|e| format!("{call}: {e}"))?;
    if !status.is_success() {
        return Err(format!(
            "{call}: HTTP {status}: {}",
            text.chars().take(300).collect::<String>()
        ));
    }
    Ok(parse_subnets(&text))
}

/// SigV4 headers for EC2's Query call with the lab's credentials (the
/// emulator routes a call by the service its signature names).
async fn sign_ec2(sdk: &SdkConfig, endpoint: &str, body: &str) -> Result<Vec<(String, String)>, String> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    let provider = sdk.credentials_provider().ok_or("no credentials to sign with")?;
    let credentials = provider
        .provide_credentials()
        .await
        .map_err(|e| format!("credentials: {e}"))?;
    let identity = credentials.into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(sdk.region().map_or(REGION, |r| r.as_ref()))
        .name("ec2")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    let request = SignableRequest::new(
        "POST",
        endpoint,
        [("content-type", content_type)].into_iter(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(request, &params).map_err(|e| e.to_string())?.into_parts();
    let (headers, _) = instructions.into_parts();
    Ok(headers
        .into_iter()
        .map(|h| (h.name().to_string(), h.value().to_string()))
        .collect())
}

/// The `<item>`s of a `DescribeSubnetsResponse`.
fn parse_subnets(xml: &str) -> Vec<Subnet> {
    let element = |item: &str, name: &str| crate::aws::xml_element(item.as_bytes(), name);
    xml.split("<item>")
        .skip(1)
        .filter_map(|item| {
            Some(Subnet {
                id: element(item, "subnetId")?,
                zone: element(item, "availabilityZone")?,
                vpc: element(item, "vpcId")?,
                cidr: element(item, "cidrBlock")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_from_ec2_xml() {
        let xml = r#"<DescribeSubnetsResponse><subnetSet><item><availabilityZoneId>use1-az6</availabilityZoneId><ipv6CidrBlockAssociationSet/><subnetId>subnet-0a</subnetId><vpcId>vpc-1</vpcId><cidrBlock>172.31.16.0/20</cidrBlock><availabilityZone>us-east-1b</availabilityZone></item><item><subnetId>subnet-0b</subnetId></item></subnetSet></DescribeSubnetsResponse>"#;
        let subnets = parse_subnets(xml);
        assert_eq!(subnets.len(), 1, "an item without its zone is skipped");
        assert_eq!(subnets[0].id, "subnet-0a");
        assert_eq!(subnets[0].zone, "us-east-1b");
        assert_eq!(subnets[0].address(10), "172.31.16.10");
    }
}
