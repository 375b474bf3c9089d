use crm_testkit::pg::PgCluster;

#[tokio::test]
async fn a_private_cluster_serves_queries_and_leaves_nothing_behind() {
    let pg = PgCluster::start().await.expect("start cluster");
    let url = pg.fresh_database("t").await.unwrap();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(one, 1);
    let pid = pg.server_pid().expect("postmaster.pid");
    let dir = pg.dir().to_owned();
    pool.close().await;
    pg.stop().await;
    assert!(!dir.exists(), "cluster dir removed");
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "server stopped"
    );
}
