//! Images follow their binaries: an unchanged binary reuses its image, a rebuilt one gets a
//! new image.

use std::io::Write;

use crm_bench::runtime::docker::client::Engine;
use crm_bench::runtime::docker::images::Images;

#[tokio::test]
async fn a_rebuilt_binary_gets_a_new_image_and_an_unchanged_one_reuses_its_own() {
    let env = super::env();
    let engine = Engine::connect().await.expect("engine");
    let images = Images::new(engine.clone(), false);
    let base = images.base().await.expect("base image");

    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        env.settings.bin_dir.join("crm-monolith"),
        dir.path().join("crm-monolith"),
    )
    .unwrap();
    let first = images
        .crm(dir.path(), "crm-monolith", &base)
        .await
        .expect("image");
    let again = images
        .crm(dir.path(), "crm-monolith", &base)
        .await
        .expect("image");
    assert_eq!(first.image, again.image);
    assert!(!again.built, "an unchanged binary reuses its image");

    // Any change to the binary (here: bytes past the end of the ELF) is a new build.
    std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("crm-monolith"))
        .unwrap()
        .write_all(b"rebuilt")
        .unwrap();
    let rebuilt = images
        .crm(dir.path(), "crm-monolith", &base)
        .await
        .expect("image");
    assert_ne!(
        rebuilt.image, first.image,
        "a changed binary gets a new tag"
    );
    assert!(rebuilt.built);
    assert!(engine.image(&first.image).await.unwrap().is_some());

    engine.remove_image(&rebuilt.image, true).await.unwrap();
    super::remove_env(&env);
}
