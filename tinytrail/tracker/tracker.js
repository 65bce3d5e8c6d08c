/* TinyTrail tracker: no cookies, no storage, no fingerprinting. */
(function () {
	try {
		var script = document.currentScript;
		var websiteId = script && script.getAttribute('data-id');
		if (!websiteId) return;
		// Script's own origin, so cross-origin embeds work
		var endpoint = script.getAttribute('data-api') ||
			script.src.split('/').slice(0, 3).join('/') + '/api/v1/collect';
		var referrer = document.referrer;
		var currentUrl, currentPath, scrollMarks, closeSent;

		function send(eventType, properties) {
			try {
				var body = JSON.stringify({
					website_id: websiteId,
					event_type: eventType,
					url: location.href,
					path: location.pathname,
					referrer: referrer,
					screen_width: innerWidth,
					screen_height: innerHeight,
					properties: properties
				});
				var type = 'application/json';
				if (window.fetch) {
					// keepalive: survives page unload
					fetch(endpoint, { method: 'POST', body: body, headers: { 'Content-Type': type },
						keepalive: true, credentials: 'omit', mode: 'cors' }).catch(function () {});
				} else {
					var xhr = new XMLHttpRequest();
					xhr.open('POST', endpoint);
					xhr.setRequestHeader('Content-Type', type);
					xhr.send(body);
				}
			} catch (e) {}
		}

		function pageView() {
			var url = location.href.split('#')[0];
			if (url === currentUrl) return;
			if (currentUrl) referrer = currentUrl; // SPA: previous in-app URL
			currentUrl = url;
			currentPath = location.pathname;
			scrollMarks = closeSent = 0;
			send('page_view');
		}

		// SPA navigation
		function wrap(method, pathOnly) {
			var original = history[method];
			history[method] = function () {
				var result = original.apply(this, arguments);
				if (!pathOnly || location.pathname !== currentPath) pageView();
				return result;
			};
		}
		wrap('pushState');
		wrap('replaceState', 1);
		addEventListener('popstate', pageView);
		// bfcache restore = new view
		addEventListener('pageshow', function (e) {
			if (e.persisted) pageView(currentUrl = '');
		});

		addEventListener('scroll', function () {
			var quartersSeen = Math.min(3, 4 * (pageYOffset + innerHeight) / document.documentElement.scrollHeight | 0);
			while (scrollMarks < quartersSeen) send('scroll_' + 25 * ++scrollMarks);
		}, { passive: true });

		document.addEventListener('visibilitychange', function () {
			if (document.visibilityState === 'hidden' && !closeSent++) send('close_tab');
		});

		// Capture: immune to stopPropagation. Button 1 = middle
		function onClick(event) {
			var link = event.target.closest && event.target.closest('a[href]');
			if (link && link.host && link.host !== location.host && event.button < 2) {
				send('outbound_link', { url: link.href });
			}
		}
		document.addEventListener('click', onClick, true);
		document.addEventListener('auxclick', onClick, true);

		// Replay a pre-load stub's q: [[name, props], ...]
		var queue = (window.analytics && window.analytics.q) || [];
		function track(name, props) {
			if (name) send('' + name, props && props.constructor === Object ? props : undefined);
		}
		window.analytics = { track: track };

		if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', pageView);
		else pageView();
		for (var i = 0; i < queue.length; i++) track.apply(0, queue[i]);
	} catch (e) {} // never break the host page
})();
