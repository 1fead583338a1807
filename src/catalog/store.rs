//! The object store the catalog reads through: the local file system, minus the files the catalog
//! found to be unreadable, so one corrupt file in a table directory never fails the whole table.

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};

/// Files the catalog rejected, by object-store path. Shared between the catalog and the store.
#[derive(Debug, Default)]
pub struct Quarantine {
    paths: RwLock<HashSet<Path>>,
}

impl Quarantine {
    pub fn contains(&self, path: &Path) -> bool {
        self.paths
            .read()
            .map(|set| set.contains(path))
            .unwrap_or(false)
    }

    pub fn set(&self, path: Path, bad: bool) {
        if let Ok(mut set) = self.paths.write() {
            if bad {
                set.insert(path);
            } else {
                set.remove(&path);
            }
        }
    }
}

/// `LocalFileSystem` whose listings leave out quarantined files.
#[derive(Debug)]
pub struct CatalogStore {
    inner: LocalFileSystem,
    quarantine: Arc<Quarantine>,
}

impl CatalogStore {
    pub fn new(quarantine: Arc<Quarantine>) -> Self {
        CatalogStore {
            inner: LocalFileSystem::new(),
            quarantine,
        }
    }
}

impl fmt::Display for CatalogStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CatalogStore({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for CatalogStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let quarantine = Arc::clone(&self.quarantine);
        self.inner
            .list(prefix)
            .filter(move |meta| {
                let keep = match meta {
                    Ok(meta) => !quarantine.contains(&meta.location),
                    Err(_) => true,
                };
                futures::future::ready(keep)
            })
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let mut result = self.inner.list_with_delimiter(prefix).await?;
        result
            .objects
            .retain(|meta| !self.quarantine.contains(&meta.location));
        Ok(result)
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}
